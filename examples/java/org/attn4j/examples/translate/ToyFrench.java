package org.attn4j.examples.translate;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * A small French grammar and its English translation, generated together with the gold word alignment.
 *
 * <p>A sentence is a subject, a verb in the present tense agreeing with it, and then an object (transitive
 * verbs) or an optional prepositional phrase (intransitive ones); the verb may be negated. Noun phrases are
 * a determiner (le/la/les/un/une: gender and number), a noun and, half of the time, an adjective that agrees
 * with the noun and follows it in French but precedes it in English:
 * <pre>
 *   le chat noir ne dort pas sous la table   →   the black cat does not sleep under the table
 *   les reines voient un lapin gris          →   the queens see a grey rabbit
 * </pre>
 *
 * <p>Gold alignment convention (sure links S, possible links P ⊇ S):
 * <ul>
 *   <li>determiner–determiner, noun–noun, adjective–adjective, verb–verb and preposition–preposition are
 *       sure (across the reordering: "noir" ↔ "black");
 *   <li>negation: "ne … pas" as a whole means "not", and which of the two words carries it is a matter of
 *       taste, so "not" has possible links to both "ne" and "pas" and no sure link; English's auxiliary
 *       "does"/"do" has no French word of its own, so it has possible links to "ne", "pas" and the verb
 *       (whose ending carries the person and number that choose "does" or "do").
 * </ul>
 *
 * <p>Held out: a few noun–adjective and subject–verb combinations (chosen from the seed) never occur in a
 * training sentence; every validation and test sentence contains at least one of them.
 */
final class ToyFrench {
    record Noun(String fr, String frPlural, boolean feminine, String en, String enPlural, boolean animate) {
    }

    record Adjective(String fr, String frFeminine, String frPlural, String frFemininePlural, String en) {
        String agree(boolean feminine, boolean plural) {
            return plural ? (feminine ? frFemininePlural : frPlural) : (feminine ? frFeminine : fr);
        }
    }

    record Verb(String fr, String frPlural, String en, String enBase, boolean transitive) {
    }

    /** A source sentence, its translation and the gold alignment. */
    record Pair(List<String> source, List<String> target, Alignment gold) {
        String sourceText() {
            return String.join(" ", source);
        }

        String targetText() {
            return String.join(" ", target);
        }
    }

    static final List<Noun> NOUNS = List.of(
            animal("chat", false, "cat"), animal("chien", false, "dog"),
            new Noun("oiseau", "oiseaux", false, "bird", "birds", true),
            new Noun("cheval", "chevaux", false, "horse", "horses", true),
            new Noun("souris", "souris", true, "mouse", "mice", true),
            new Noun("poisson", "poissons", false, "fish", "fish", true),
            animal("vache", true, "cow"), animal("garçon", false, "boy"), animal("fille", true, "girl"),
            new Noun("femme", "femmes", true, "woman", "women", true),
            animal("roi", false, "king"), animal("reine", true, "queen"), animal("lapin", false, "rabbit"),
            animal("tortue", true, "turtle"), animal("canard", false, "duck"),
            new Noun("loup", "loups", false, "wolf", "wolves", true),
            new Noun("renard", "renards", false, "fox", "foxes", true), animal("singe", false, "monkey"),
            thing("table", true, "table"), thing("chaise", true, "chair"), thing("voiture", true, "car"),
            thing("maison", true, "house"), thing("lit", false, "bed"), thing("jardin", false, "garden"),
            thing("pont", false, "bridge"), new Noun("bateau", "bateaux", false, "boat", "boats", false),
            thing("rivière", true, "river"), thing("montagne", true, "mountain"));

    static final List<Adjective> ADJECTIVES = List.of(
            regular("noir", "black"), new Adjective("blanc", "blanche", "blancs", "blanches", "white"),
            same("rouge", "red"), regular("vert", "green"), regular("bleu", "blue"), same("jaune", "yellow"),
            new Adjective("gris", "grise", "gris", "grises", "grey"), same("rapide", "fast"), same("calme", "calm"),
            same("triste", "sad"), same("malade", "sick"), regular("content", "happy"),
            new Adjective("fatigué", "fatiguée", "fatigués", "fatiguées", "tired"));

    static final List<Verb> VERBS = List.of(
            new Verb("dort", "dorment", "sleeps", "sleep", false), new Verb("court", "courent", "runs", "run", false),
            new Verb("chante", "chantent", "sings", "sing", false), new Verb("joue", "jouent", "plays", "play", false),
            new Verb("nage", "nagent", "swims", "swim", false), new Verb("danse", "dansent", "dances", "dance", false),
            new Verb("marche", "marchent", "walks", "walk", false), new Verb("voit", "voient", "sees", "see", true),
            new Verb("suit", "suivent", "follows", "follow", true),
            new Verb("regarde", "regardent", "watches", "watch", true),
            new Verb("touche", "touchent", "touches", "touch", true), new Verb("mange", "mangent", "eats", "eat", true),
            new Verb("pousse", "poussent", "pushes", "push", true));

    static final List<List<String>> PREPOSITIONS = List.of(List.of("sur", "on"), List.of("sous", "under"),
            List.of("dans", "in"), List.of("avec", "with"), List.of("derrière", "behind"), List.of("vers", "towards"));

    private final Set<String> heldOut = new HashSet<>();

    /** Holds out, for every animate noun, one adjective and one verb (chosen from the seed). */
    ToyFrench(long seed) {
        Random rnd = new Random(seed);
        for (Noun n : NOUNS) {
            heldOut.add(nounAdjective(n, ADJECTIVES.get(rnd.nextInt(ADJECTIVES.size()))));
            if (n.animate()) {
                heldOut.add(subjectVerb(n, VERBS.get(rnd.nextInt(VERBS.size()))));
            }
        }
    }

    /** Every word a source sentence may use. */
    static List<String> sourceWords() {
        LinkedHashSet<String> w = new LinkedHashSet<>(List.of("le", "la", "les", "un", "une", "ne", "pas"));
        NOUNS.forEach(n -> w.addAll(List.of(n.fr(), n.frPlural())));
        ADJECTIVES.forEach(a -> w.addAll(List.of(a.fr(), a.frFeminine(), a.frPlural(), a.frFemininePlural())));
        VERBS.forEach(v -> w.addAll(List.of(v.fr(), v.frPlural())));
        PREPOSITIONS.forEach(p -> w.add(p.get(0)));
        return List.copyOf(w);
    }

    /** Every word a target sentence may use. */
    static List<String> targetWords() {
        LinkedHashSet<String> w = new LinkedHashSet<>(List.of("the", "a", "does", "do", "not"));
        NOUNS.forEach(n -> w.addAll(List.of(n.en(), n.enPlural())));
        ADJECTIVES.forEach(a -> w.add(a.en()));
        VERBS.forEach(v -> w.addAll(List.of(v.en(), v.enBase())));
        PREPOSITIONS.forEach(p -> w.add(p.get(1)));
        return List.copyOf(w);
    }

    /** {@code count} random training sentences: none contains a held-out combination. */
    List<Pair> training(int count, Random rnd) {
        List<Pair> out = new ArrayList<>(count);
        while (out.size() < count) {
            Built b = sentence(rnd);
            if (b.combinations.stream().noneMatch(heldOut::contains)) {
                out.add(b.pair());
            }
        }
        return out;
    }

    /** {@code count} distinct sentences, each with a held-out combination, none of them in {@code exclude}. */
    List<Pair> heldOut(int count, Random rnd, Set<String> exclude) {
        List<Pair> out = new ArrayList<>(count);
        Set<String> seen = new HashSet<>(exclude);
        while (out.size() < count) {
            Built b = sentence(rnd);
            if (b.combinations.stream().anyMatch(heldOut::contains) && seen.add(b.pair().sourceText())) {
                out.add(b.pair());
            }
        }
        return out;
    }

    /** The held-out combinations, as "chat+noir" (noun + adjective) and "chat:dort" (subject + verb). */
    Set<String> heldOutCombinations() {
        return new TreeSet<>(heldOut);
    }

    private static String nounAdjective(Noun n, Adjective a) {
        return n.fr() + "+" + a.fr();
    }

    private static String subjectVerb(Noun n, Verb v) {
        return n.fr() + ":" + v.fr();
    }

    /** A sentence under construction: words, links and the combinations it uses. */
    private static final class Built {
        final List<String> source = new ArrayList<>(), target = new ArrayList<>();
        final Set<Alignment.Link> sure = new HashSet<>(), possible = new HashSet<>();
        final List<String> combinations = new ArrayList<>();

        /** Appends a French and an English word linked surely to each other. */
        void both(String fr, String en) {
            source.add(fr);
            target.add(en);
            sure.add(new Alignment.Link(source.size() - 1, target.size() - 1));
        }

        Pair pair() {
            return new Pair(List.copyOf(source), List.copyOf(target), new Alignment(sure, possible));
        }
    }

    private Built sentence(Random rnd) {
        Built b = new Built();
        Noun subject = pick(NOUNS.subList(0, 18), rnd);
        boolean plural = rnd.nextDouble() < 0.35;
        nounPhrase(b, subject, plural, false, rnd);
        Verb verb = pick(VERBS, rnd);
        b.combinations.add(subjectVerb(subject, verb));
        boolean negated = rnd.nextDouble() < 0.3;
        if (negated) {
            int ne = b.source.size();
            b.source.add("ne");
            b.target.add(plural ? "do" : "does");
            b.target.add("not");
            b.both(plural ? verb.frPlural() : verb.fr(), verb.enBase());
            b.source.add("pas");
            int does = b.target.size() - 3, not = does + 1, v = ne + 1, pas = ne + 2;
            for (int s : new int[] {ne, v, pas}) {
                b.possible.add(new Alignment.Link(s, does));
            }
            b.possible.add(new Alignment.Link(ne, not));
            b.possible.add(new Alignment.Link(pas, not));
        } else {
            b.both(plural ? verb.frPlural() : verb.fr(), plural ? verb.enBase() : verb.en());
        }
        if (verb.transitive()) {
            // After a negation French says "pas de" for an indefinite object: only definite objects here.
            nounPhrase(b, pick(NOUNS.subList(0, 18), rnd), rnd.nextDouble() < 0.35, negated, rnd);
        } else if (rnd.nextDouble() < 0.6) {
            List<String> p = pick(PREPOSITIONS, rnd);
            b.both(p.get(0), p.get(1));
            nounPhrase(b, pick(NOUNS, rnd), rnd.nextDouble() < 0.35, false, rnd);
        }
        return b;
    }

    /** Determiner, noun, maybe an adjective: "la souris grise" / "the grey mouse". */
    private static void nounPhrase(Built b, Noun n, boolean plural, boolean definiteOnly, Random rnd) {
        boolean definite = plural || definiteOnly || rnd.nextDouble() < 0.6;
        String det = plural ? "les" : definite ? (n.feminine() ? "la" : "le") : (n.feminine() ? "une" : "un");
        b.both(det, definite ? "the" : "a");
        Adjective adj = rnd.nextBoolean() ? pick(ADJECTIVES, rnd) : null;
        int nounAt = b.source.size();
        b.source.add(plural ? n.frPlural() : n.fr());
        if (adj == null) {
            b.target.add(plural ? n.enPlural() : n.en());
            b.sure.add(new Alignment.Link(nounAt, b.target.size() - 1));
            return;
        }
        b.combinations.add(nounAdjective(n, adj));
        b.source.add(adj.agree(n.feminine(), plural));
        b.target.add(adj.en());
        b.target.add(plural ? n.enPlural() : n.en());
        b.sure.add(new Alignment.Link(nounAt + 1, b.target.size() - 2));
        b.sure.add(new Alignment.Link(nounAt, b.target.size() - 1));
    }

    private static <T> T pick(List<T> list, Random rnd) {
        return list.get(rnd.nextInt(list.size()));
    }

    private static Noun animal(String fr, boolean feminine, String en) {
        return new Noun(fr, fr + "s", feminine, en, en + "s", true);
    }

    private static Noun thing(String fr, boolean feminine, String en) {
        return new Noun(fr, fr + "s", feminine, en, en + "s", false);
    }

    private static Adjective regular(String fr, String en) {
        return new Adjective(fr, fr + "e", fr + "s", fr + "es", en);
    }

    private static Adjective same(String fr, String en) {
        return new Adjective(fr, fr, fr + "s", fr + "s", en);
    }
}
