package corpus.algorithms;

/** Quicksort with the Lomuto partition scheme. */
public final class QuickSort {
    private QuickSort() {
    }

    public static void sort(int[] values) {
        sort(values, 0, values.length - 1);
    }

    private static void sort(int[] values, int low, int high) {
        if (low >= high) {
            return;
        }
        int pivot = partition(values, low, high);
        sort(values, low, pivot - 1);
        sort(values, pivot + 1, high);
    }

    private static int partition(int[] values, int low, int high) {
        int pivot = values[high];
        int i = low;
        for (int j = low; j < high; j++) {
            if (values[j] < pivot) {
                swap(values, i, j);
                i++;
            }
        }
        swap(values, i, high);
        return i;
    }

    private static void swap(int[] values, int i, int j) {
        int tmp = values[i];
        values[i] = values[j];
        values[j] = tmp;
    }
}
