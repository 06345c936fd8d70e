package org.attn4j.text;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One of HF's decoders: rewrites the list of token strings on the way back to text (HF's decode_chain). */
interface Decoder {
    List<String> apply(List<String> tokens);

    /** Undoes GPT-2's byte map over all tokens at once; malformed UTF-8 becomes U+FFFD as Rust's lossy decode. */
    record ByteLevelJoin() implements Decoder {
        @Override
        public List<String> apply(List<String> tokens) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String t : tokens) {
                byte[] mapped = new byte[t.length()];
                boolean all = true;
                for (int i = 0; i < t.length() && all; i++) {
                    int b = ByteLevel.byteOf(t.charAt(i));
                    all = b >= 0;
                    mapped[i] = (byte) b;
                }
                // a token that is not byte-mapped (an added token such as "<|im_start|>") stands for its own UTF-8
                byte[] raw = all ? mapped : t.getBytes(StandardCharsets.UTF_8);
                bytes.write(raw, 0, raw.length);
            }
            return List.of(Utf8.decodeLossy(bytes.toByteArray()));
        }
    }

    /** Replaces a literal or regex in every token. */
    record Replace(Pattern pattern, String content) implements Decoder {
        @Override
        public List<String> apply(List<String> tokens) {
            String replacement = Matcher.quoteReplacement(content);
            return tokens.stream().map(t -> pattern.matcher(t).replaceAll(replacement)).toList();
        }
    }

    /** Runs of {@code <0xNN>} tokens become their UTF-8 text, or one U+FFFD per byte when not valid UTF-8. */
    record ByteFallback() implements Decoder {
        @Override
        public List<String> apply(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            ByteArrayOutputStream run = new ByteArrayOutputStream();
            for (String t : tokens) {
                int b = byteToken(t);
                if (b >= 0) {
                    run.write(b);
                    continue;
                }
                flush(run, out);
                out.add(t);
            }
            flush(run, out);
            return out;
        }

        private static int byteToken(String t) {
            if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') {
                return -1;
            }
            int hi = Character.digit(t.charAt(3), 16);
            int lo = Character.digit(t.charAt(4), 16);
            return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        }

        private static void flush(ByteArrayOutputStream run, List<String> out) {
            if (run.size() == 0) {
                return;
            }
            byte[] bytes = run.toByteArray();
            String text = Utf8.decodeStrict(bytes);
            if (text != null) {
                out.add(text);
            } else {
                for (int i = 0; i < bytes.length; i++) {
                    out.add("\uFFFD");
                }
            }
            run.reset();
        }
    }

    /** Joins every token into one. */
    record Fuse() implements Decoder {
        @Override
        public List<String> apply(List<String> tokens) {
            return List.of(String.join("", tokens));
        }
    }

    /** Removes up to {@code start} leading and {@code stop} trailing copies of one character from each token. */
    record Strip(int content, int start, int stop) implements Decoder {
        @Override
        public List<String> apply(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String t : tokens) {
                int[] cps = t.codePoints().toArray();
                int from = 0;
                while (from < start && from < cps.length && cps[from] == content) {
                    from++;
                }
                int to = cps.length;
                while (cps.length - to < stop && to > from && cps[to - 1] == content) {
                    to--;
                }
                out.add(new String(cps, from, to - from));
            }
            return out;
        }
    }

    /** SentencePiece's spaces back: the replacement becomes ' ', and is dropped in the first token. */
    record Metaspace(int replacement, boolean dropInFirst) implements Decoder {
        @Override
        public List<String> apply(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                StringBuilder sb = new StringBuilder();
                boolean first = i == 0;
                tokens.get(i).codePoints().forEach(c -> {
                    if (c != replacement) {
                        sb.appendCodePoint(c);
                    } else if (!(first && dropInFirst)) {
                        sb.append(' ');
                    }
                });
                out.add(sb.toString());
            }
            return out;
        }
    }

    record Sequence(List<Decoder> steps) implements Decoder {
        @Override
        public List<String> apply(List<String> tokens) {
            for (Decoder d : steps) {
                tokens = d.apply(tokens);
            }
            return tokens;
        }
    }
}
