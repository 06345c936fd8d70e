package org.attn4j.text;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The hand-written GPT-2 split gives the regex's matches, on the fixture texts and on random strings. */
class Gpt2SplitTest {
    private static final Pattern GPT2 = Regexes.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
    private static final String ALPHABET = "aZ é'sStlrvemd0١½ \t\n\r\u00a0\u3000.,!-_😀中\u0301";

    @Test
    void sameMatchesAsTheRegex() throws IOException {
        List<String> texts = new ArrayList<>(Fixtures.texts());
        Random rng = new Random(3);
        int[] alphabet = ALPHABET.codePoints().toArray();
        for (int i = 0; i < 5000; i++) {
            StringBuilder sb = new StringBuilder();
            for (int k = rng.nextInt(12); k > 0; k--) {
                sb.appendCodePoint(alphabet[rng.nextInt(alphabet.length)]);
            }
            texts.add(sb.toString());
        }
        for (String text : texts) {
            assertEquals(regex(text), scanner(text), TokenizerParityTest.quote(text));
        }
    }

    private static List<String> regex(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = GPT2.matcher(text);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }

    private static List<String> scanner(String text) {
        List<String> out = new ArrayList<>();
        Gpt2Split.split(text, (start, end) -> out.add(text.substring(start, end)));
        return out;
    }
}
