package org.attn4j.decode;

import java.util.Arrays;

/** The ids that end a sequence (one, several as Hugging Face's {@code eos_token_id} lists, or none). */
record EndIds(int[] ids) {
    EndIds {
        ids = ids.clone();
        for (int id : ids) {
            if (id < 0) {
                throw new IllegalArgumentException("End ids must be >= 0, given " + Arrays.toString(ids));
            }
        }
    }

    /** The single-id form of the older signatures: {@code -1} means none. */
    static int[] of(int eos) {
        return eos < 0 ? new int[0] : new int[] {eos};
    }

    boolean contains(int id) {
        for (int e : ids) {
            if (e == id) {
                return true;
            }
        }
        return false;
    }

    /** What a finished row is fed while the others go on (never read back into a hypothesis). */
    int filler() {
        return ids.length == 0 ? -1 : ids[0];
    }
}
