package corpus.algorithms;

/** Top-down merge sort with one scratch array. */
public final class MergeSort {
    private MergeSort() {
    }

    public static void sort(int[] values) {
        int[] scratch = new int[values.length];
        sort(values, scratch, 0, values.length);
    }

    private static void sort(int[] values, int[] scratch, int from, int to) {
        if (to - from < 2) {
            return;
        }
        int mid = (from + to) / 2;
        sort(values, scratch, from, mid);
        sort(values, scratch, mid, to);
        merge(values, scratch, from, mid, to);
    }

    private static void merge(int[] values, int[] scratch, int from, int mid, int to) {
        int left = from;
        int right = mid;
        int out = from;
        while (left < mid && right < to) {
            if (values[left] <= values[right]) {
                scratch[out++] = values[left++];
            } else {
                scratch[out++] = values[right++];
            }
        }
        while (left < mid) {
            scratch[out++] = values[left++];
        }
        while (right < to) {
            scratch[out++] = values[right++];
        }
        System.arraycopy(scratch, from, values, from, to - from);
    }
}
