package org.attn4j.examples.translate;

import java.io.IOException;

/**
 * The project's front door, {@code mvn -q test-compile exec:java}: {@link Translate} with the committed
 * model ({@code --pretrained}) when no arguments are given, otherwise {@link Translate} with the arguments.
 */
public final class Demo {
    private Demo() {
    }

    public static void main(String[] args) throws IOException {
        Translate.main(args.length == 0 ? new String[] {"--pretrained"} : args);
    }
}
