package org.attn4j.text;

import java.util.Arrays;

/** A growable int array: ids are collected without boxing. */
final class IntList {
    private int[] data;
    private int size;

    IntList(int capacity) {
        data = new int[Math.max(2, capacity)];
    }

    void add(int v) {
        if (size == data.length) {
            data = Arrays.copyOf(data, size * 2);
        }
        data[size++] = v;
    }

    void addAll(int[] vs) {
        addAll(vs, 0, vs.length);
    }

    /** Appends {@code vs[from, from + count)}. */
    void addAll(int[] vs, int from, int count) {
        if (size + count > data.length) {
            data = Arrays.copyOf(data, Math.max(size * 2, size + count));
        }
        System.arraycopy(vs, from, data, size, count);
        size += count;
    }

    int get(int i) {
        return data[i];
    }

    int size() {
        return size;
    }

    void clear() {
        size = 0;
    }

    int[] toArray() {
        return Arrays.copyOf(data, size);
    }
}
