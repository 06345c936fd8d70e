package org.attn4j.examples;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

/** {@code key=value} (or {@code --key=value}) command-line arguments with defaults. */
public final class Args {
    private Args() {
    }

    /** Parses args over the defaults; an unknown key or a malformed argument is an error that lists the keys. */
    public static Map<String, String> parse(String[] args, Map<String, String> defaults) {
        Map<String, String> out = new LinkedHashMap<>(defaults);
        for (String arg : args) {
            String a = arg.startsWith("--") ? arg.substring(2) : arg;
            int eq = a.indexOf('=');
            String key = eq < 0 ? a : a.substring(0, eq);
            if (eq < 0 || !defaults.containsKey(key)) {
                throw new IllegalArgumentException("Unknown argument '" + arg + "'; expected key=value with key one of "
                        + new TreeSet<>(defaults.keySet()));
            }
            out.put(key, a.substring(eq + 1));
        }
        return out;
    }
}
