package org.attn4j.examples;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * Command-line arguments with defaults: {@code key=value}, {@code --key=value}, {@code --key value}, and
 * {@code --flag} alone for a key whose default is {@code true} or {@code false}.
 */
public final class Args {
    private Args() {
    }

    /** Parses args over the defaults; an unknown key or a malformed argument is a {@link BadOption} that lists the keys. */
    public static Map<String, String> parse(String[] args, Map<String, String> defaults) {
        Map<String, String> out = new LinkedHashMap<>(defaults);
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            boolean dashed = arg.startsWith("--");
            String a = dashed ? arg.substring(2) : arg;
            int eq = a.indexOf('=');
            String key = eq < 0 ? a : a.substring(0, eq);
            if ((eq < 0 && !dashed) || !defaults.containsKey(key)) {
                throw new BadOption("unknown option '" + arg + "': expected --key value, --key=value or key=value with "
                        + "key one of " + new TreeSet<>(defaults.keySet()));
            }
            if (eq >= 0) {
                out.put(key, a.substring(eq + 1));
            } else if (defaults.get(key).equals("true") || defaults.get(key).equals("false")) {
                out.put(key, "true");
            } else if (i + 1 < args.length) {
                out.put(key, args[++i]);
            } else {
                throw new BadOption("--" + key + " needs a value: expected --" + key + " VALUE (default "
                        + defaults.get(key) + "), given nothing after it");
            }
        }
        return out;
    }
}
