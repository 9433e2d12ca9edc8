package corpus.algorithms;

/** Insertion sort: simple, stable and fast on nearly sorted input. */
public final class InsertionSort {
    private InsertionSort() {
    }

    public static void sort(int[] values) {
        for (int i = 1; i < values.length; i++) {
            int current = values[i];
            int j = i - 1;
            while (j >= 0 && values[j] > current) {
                values[j + 1] = values[j];
                j--;
            }
            values[j + 1] = current;
        }
    }

    public static <T extends Comparable<T>> void sort(T[] values) {
        for (int i = 1; i < values.length; i++) {
            T current = values[i];
            int j = i - 1;
            while (j >= 0 && values[j].compareTo(current) > 0) {
                values[j + 1] = values[j];
                j--;
            }
            values[j + 1] = current;
        }
    }
}
