package org.attn4j.examples;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

/** {@code key=value}, {@code --key=value} or {@code --key value} command-line arguments with defaults. */
public final class Args {
    private Args() {
    }

    /** Parses args over the defaults; an unknown key or a malformed argument is an error that lists the keys. */
    public static Map<String, String> parse(String[] args, Map<String, String> defaults) {
        Map<String, String> out = new LinkedHashMap<>(defaults);
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String a = arg.startsWith("--") ? arg.substring(2) : arg;
            int eq = a.indexOf('=');
            String key = eq < 0 ? a : a.substring(0, eq);
            boolean spaced = eq < 0 && arg.startsWith("--") && i + 1 < args.length; // "--key value"
            if ((eq < 0 && !spaced) || !defaults.containsKey(key)) {
                throw new IllegalArgumentException("Unknown argument '" + arg + "'; expected key=value or --key value "
                        + "with key one of " + new TreeSet<>(defaults.keySet()));
            }
            out.put(key, spaced ? args[++i] : a.substring(eq + 1));
        }
        return out;
    }
}
