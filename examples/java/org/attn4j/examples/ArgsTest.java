package org.attn4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ArgsTest {
    private static final Map<String, String> DEFAULTS = Map.of("task", "copy", "steps", "10", "pretrained", "false");

    @Test
    void everyFormSetsItsKey() {
        Map<String, String> o = Args.parse(new String[] {"--task", "sort", "steps=5", "--pretrained"}, DEFAULTS);
        assertEquals(Map.of("task", "sort", "steps", "5", "pretrained", "true"), o);
        assertEquals("7", Args.parse(new String[] {"--steps=7"}, DEFAULTS).get("steps"));
        assertEquals(DEFAULTS, Args.parse(new String[0], DEFAULTS));
    }

    @Test
    void mistakesNameTheKeys() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Args.parse(new String[] {"--tsk", "x"}, DEFAULTS))
                .getMessage().contains("[pretrained, steps, task]"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Args.parse(new String[] {"--steps"}, DEFAULTS))
                .getMessage().contains("needs a value"));
        assertThrows(IllegalArgumentException.class, () -> Args.parse(new String[] {"steps"}, DEFAULTS));
    }
}
