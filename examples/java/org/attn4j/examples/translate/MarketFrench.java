package org.attn4j.examples.translate;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * A second toy French→English grammar, with its own words, for training on files ({@code --write-corpus}
 * writes a training and a test file of it; {@code --train-file} learns them like any user's parallel text).
 *
 * <p>People at a market buy, sell, wash and give things. Compared with {@link ToyFrench} it ends each sentence
 * with "." or "!", has elision ("l' orange", "n' achète", "l' achète"), the indefinite plural "des" (and "de"
 * before an adjective) that English leaves out, adjectives on both sides of the French noun (English puts
 * them before it), object pronouns before the French verb and after the English one, adverbs after the
 * French verb and before the English one, "ne … jamais" → "never", a recipient ("à"/"pour" → "to"/"for") or a
 * place ("à"/"dans"/"derrière" → "at"/"in"/"behind"), and English "a"/"an" chosen by the next English word:
 * <pre>
 *   le fermier vend souvent des pommes rouges .      →   the farmer often sells red apples .
 *   mes soeurs achètent de petites tasses !           →   my sisters buy little cups !
 *   la voisine ne la lave jamais .                    →   the neighbour never washes it .
 *   un oncle donne une orange vide à mon cuisinier .  →   an uncle gives an empty orange to my cook .
 * </pre>
 * "à" never meets "le" or "les" here (French would contract them into "au"/"aux", one word for "to the").
 *
 * <p>Gold alignment (Pharaoh, sure S ⊆ possible P): every English word is linked surely to its French
 * counterpart, across the reorderings; "des"/"de" have none (no link); "ne" has a possible link to
 * "never", "jamais" the sure one.
 */
final class MarketFrench {
    /** {@code vowel}: the French word starts with a vowel sound (elision); {@code an}: the English one does. */
    record Noun(String fr, String frPlural, boolean feminine, boolean vowel, String en, String enPlural, boolean an) {
    }

    /** {@code before}: the adjective precedes the French noun (grand, petit), otherwise it follows it. */
    record Adjective(String fr, String frFeminine, String frPlural, String frFemininePlural, String en, boolean an,
            boolean before) {
        String agree(boolean feminine, boolean plural) {
            return plural ? (feminine ? frFemininePlural : frPlural) : (feminine ? frFeminine : fr);
        }
    }

    record Verb(String fr, String frPlural, String en, String enBase, boolean ditransitive) {
    }

    static final List<Noun> PEOPLE = List.of(
            noun("marchand", false, "merchant"), noun("cuisinier", false, "cook"), noun("fermier", false, "farmer"),
            noun("voisine", true, "neighbour"), new Noun("enfant", "enfants", false, true, "child", "children", false),
            new Noun("étudiant", "étudiants", false, true, "student", "students", false), noun("soeur", true, "sister"),
            noun("frère", false, "brother"), new Noun("oncle", "oncles", false, true, "uncle", "uncles", true),
            new Noun("tante", "tantes", true, false, "aunt", "aunts", true),
            new Noun("ours", "ours", false, true, "bear", "bears", false),
            noun("chèvre", true, "goat"), new Noun("mouton", "moutons", false, false, "sheep", "sheep", false));

    static final List<Noun> THINGS = List.of(
            new Noun("pomme", "pommes", true, false, "apple", "apples", true),
            new Noun("orange", "oranges", true, true, "orange", "oranges", true),
            new Noun("oeuf", "oeufs", false, true, "egg", "eggs", true),
            new Noun("gâteau", "gâteaux", false, false, "cake", "cakes", false), noun("livre", false, "book"),
            noun("lettre", true, "letter"), noun("clé", true, "key"), noun("panier", false, "basket"),
            noun("fleur", true, "flower"), new Noun("chapeau", "chapeaux", false, false, "hat", "hats", false),
            new Noun("couteau", "couteaux", false, false, "knife", "knives", false), noun("tasse", true, "cup"),
            noun("lampe", true, "lamp"), new Noun("assiette", "assiettes", true, true, "plate", "plates", false),
            new Noun("parapluie", "parapluies", false, false, "umbrella", "umbrellas", true));

    static final List<Noun> PLACES = List.of(noun("marché", false, "market"), noun("cuisine", true, "kitchen"),
            new Noun("école", "écoles", true, true, "school", "schools", false), noun("gare", true, "station"),
            noun("forêt", true, "forest"), noun("village", false, "village"));

    static final List<Adjective> ADJECTIVES = List.of(
            same("rouge", "red"), regular("vert", "green"), regular("cassé", "broken"), regular("lourd", "heavy"),
            regular("chaud", "hot"), regular("froid", "cold"), new Adjective("vide", "vide", "vides", "vides", "empty",
                    true, false), same("énorme", "huge"), same("propre", "clean"), same("sale", "dirty"),
            regular("rond", "round"),
            pre("grand", "big"), pre("petit", "little"), pre("joli", "pretty"),
            new Adjective("bon", "bonne", "bons", "bonnes", "good", false, true),
            new Adjective("mauvais", "mauvaise", "mauvais", "mauvaises", "bad", false, true));

    static final List<List<String>> PLACE_PREPOSITIONS = List.of(List.of("à", "at"), List.of("dans", "in"),
            List.of("derrière", "behind"));

    static final List<Verb> VERBS = List.of(
            new Verb("achète", "achètent", "buys", "buy", false), new Verb("vend", "vendent", "sells", "sell", false),
            new Verb("porte", "portent", "carries", "carry", false), new Verb("trouve", "trouvent", "finds", "find", false),
            new Verb("cache", "cachent", "hides", "hide", false), new Verb("lave", "lavent", "washes", "wash", false),
            new Verb("prend", "prennent", "takes", "take", false), new Verb("donne", "donnent", "gives", "give", true),
            new Verb("montre", "montrent", "shows", "show", true), new Verb("envoie", "envoient", "sends", "send", true));

    static final List<List<String>> ADVERBS = List.of(List.of("souvent", "often"), List.of("toujours", "always"),
            List.of("parfois", "sometimes"));

    static final int MAX_WORDS = 16;

    private final long seed;

    MarketFrench(long seed) {
        this.seed = seed;
    }

    /** {@code train} training pairs and {@code test} test pairs whose French sentences are not in training. */
    List<List<ToyFrench.Pair>> corpus(int train, int test) {
        Random rnd = new Random(seed);
        List<ToyFrench.Pair> training = new ArrayList<>(train), testing = new ArrayList<>(test);
        Set<String> seen = new HashSet<>();
        while (training.size() < train) {
            ToyFrench.Pair p = sentence(rnd);
            training.add(p);
            seen.add(p.sourceText());
        }
        while (testing.size() < test) {
            ToyFrench.Pair p = sentence(rnd);
            if (seen.add(p.sourceText())) {
                testing.add(p);
            }
        }
        return List.of(training, testing);
    }

    /** Writes {@code dir/train.txt} and {@code dir/test.txt}, one {@code source ||| target ||| alignment} a line. */
    List<Path> write(Path dir, int train, int test) throws IOException {
        List<List<ToyFrench.Pair>> c = corpus(train, test);
        List<Path> files = List.of(dir.resolve("train.txt"), dir.resolve("test.txt"));
        for (int i = 0; i < 2; i++) {
            ParallelFile.write(files.get(i), "MarketFrench (seed " + seed + "), " + c.get(i).size()
                    + " pairs: source ||| target ||| gold alignment (Pharaoh)", c.get(i));
        }
        return files;
    }

    /** A sentence of at most {@link #MAX_WORDS} words on each side. */
    ToyFrench.Pair sentence(Random rnd) {
        while (true) {
            Built b = new Built();
            clause(b, rnd);
            if (b.source.size() <= MAX_WORDS && b.target.size() <= MAX_WORDS) {
                return b.pair();
            }
        }
    }

    /** A sentence under construction: words and gold links. */
    private static final class Built {
        final List<String> source = new ArrayList<>(), target = new ArrayList<>();
        final Set<Alignment.Link> sure = new HashSet<>(), possible = new HashSet<>();

        int fr(String word) {
            source.add(word);
            return source.size() - 1;
        }

        int en(String word) {
            target.add(word);
            return target.size() - 1;
        }

        void link(int fr, int en) {
            sure.add(new Alignment.Link(fr, en));
        }

        ToyFrench.Pair pair() {
            return new ToyFrench.Pair(List.copyOf(source), List.copyOf(target), new Alignment(sure, possible));
        }
    }

    private static void clause(Built b, Random rnd) {
        Noun subject = pick(PEOPLE, rnd);
        boolean plural = rnd.nextDouble() < 0.35;
        nounPhrase(b, subject, plural, false, false, rnd);
        Verb verb = pick(VERBS, rnd);
        Noun object = pick(THINGS, rnd);
        boolean objectPlural = rnd.nextDouble() < 0.35, pronoun = !verb.ditransitive() && rnd.nextDouble() < 0.2;
        double r = rnd.nextDouble();
        boolean negated = r < 0.2;
        List<String> adverb = !negated && r < 0.45 ? pick(ADVERBS, rnd) : null;

        // French: [ne] [le/la/les] verb [jamais | adverb] [object] ; English: [never | adverb] verb [object]
        String verbFr = plural ? verb.frPlural() : verb.fr();
        String cliticFr = !pronoun ? null : objectPlural ? "les" : vowel(verbFr) ? "l'" : object.feminine() ? "la" : "le";
        int ne = negated ? b.fr(vowel(cliticFr == null ? verbFr : cliticFr) ? "n'" : "ne") : -1;
        int clitic = pronoun ? b.fr(cliticFr) : -1;
        int v = b.fr(verbFr);
        int after = negated ? b.fr("jamais") : adverb != null ? b.fr(adverb.get(0)) : -1;
        if (negated) {
            int never = b.en("never");
            b.link(after, never);
            b.possible.add(new Alignment.Link(ne, never));
        } else if (adverb != null) {
            b.link(after, b.en(adverb.get(1)));
        }
        b.link(v, b.en(plural ? verb.enBase() : verb.en()));
        if (pronoun) {
            b.link(clitic, b.en(objectPlural ? "them" : "it"));
        } else {
            // After a negation French says "de" for an indefinite object: only definite objects there.
            nounPhrase(b, object, objectPlural, negated, false, rnd);
        }
        if (verb.ditransitive() && rnd.nextDouble() < 0.8) {
            List<String> p = rnd.nextDouble() < 0.7 ? List.of("à", "to") : List.of("pour", "for");
            b.link(b.fr(p.get(0)), b.en(p.get(1)));
            nounPhrase(b, pick(PEOPLE, rnd), rnd.nextDouble() < 0.35, false, p.get(0).equals("à"), rnd);
        } else if (!pronoun && rnd.nextDouble() < 0.35) {
            List<String> p = pick(PLACE_PREPOSITIONS, rnd);
            b.link(b.fr(p.get(0)), b.en(p.get(1)));
            nounPhrase(b, pick(PLACES, rnd), false, false, p.get(0).equals("à"), rnd);
        }
        String end = rnd.nextDouble() < 0.75 ? "." : "!";
        b.link(b.fr(end), b.en(end));
    }

    /**
     * Determiner, [adjective before], noun, [adjective after]: English puts the adjective before the noun.
     * {@code definiteOnly}: the or my (after a negation); {@code afterA}: no "le" or "les", which would
     * contract with "à" into "au"/"aux".
     */
    private static void nounPhrase(Built b, Noun n, boolean plural, boolean definiteOnly, boolean afterA,
            Random rnd) {
        Adjective adj = rnd.nextDouble() < 0.5 ? pick(ADJECTIVES, rnd) : null;
        boolean elided = !plural && (adj == null || !adj.before()) && n.vowel();
        double kind = definiteOnly ? rnd.nextDouble() * 0.6 : rnd.nextDouble();
        if (afterA && kind < 0.45 && (plural || (!n.feminine() && !elided))) {
            kind = 0.5; // "my" rather than a contraction
        }
        if (kind < 0.45) {
            b.link(b.fr(plural ? "les" : elided ? "l'" : n.feminine() ? "la" : "le"), b.en("the"));
        } else if (kind < 0.6) {
            boolean vowel = adj == null || !adj.before() ? n.vowel() : false;
            String fr = plural ? "mes" : n.feminine() && !vowel ? "ma" : "mon";
            b.link(b.fr(fr), b.en("my"));
        } else if (plural) {
            b.fr(adj != null && adj.before() ? "de" : "des"); // English has no word for it
        } else {
            boolean an = adj == null ? n.an() : adj.an();
            b.link(b.fr(n.feminine() ? "une" : "un"), b.en(an ? "an" : "a"));
        }
        rest(b, n, plural, adj);
    }

    private static void rest(Built b, Noun n, boolean plural, Adjective adj) {
        int before = adj != null && adj.before() ? b.fr(adj.agree(n.feminine(), plural)) : -1;
        int noun = b.fr(plural ? n.frPlural() : n.fr());
        int after = adj != null && !adj.before() ? b.fr(adj.agree(n.feminine(), plural)) : -1;
        if (adj != null) {
            b.link(Math.max(before, after), b.en(adj.en()));
        }
        b.link(noun, b.en(plural ? n.enPlural() : n.en()));
    }

    private static boolean vowel(String word) {
        return "aeiouéèêâ".indexOf(word.charAt(0)) >= 0;
    }

    private static <T> T pick(List<T> list, Random rnd) {
        return list.get(rnd.nextInt(list.size()));
    }

    private static Noun noun(String fr, boolean feminine, String en) {
        return new Noun(fr, fr + "s", feminine, false, en, en + "s", false);
    }

    private static Adjective regular(String fr, String en) {
        return new Adjective(fr, fr + "e", fr + "s", fr + "es", en, false, false);
    }

    private static Adjective same(String fr, String en) {
        return new Adjective(fr, fr, fr + "s", fr + "s", en, false, false);
    }

    private static Adjective pre(String fr, String en) {
        return new Adjective(fr, fr + "e", fr + "s", fr + "es", en, false, true);
    }
}
