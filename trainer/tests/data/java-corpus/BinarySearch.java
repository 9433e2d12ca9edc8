package corpus.algorithms;

/** Binary search over sorted arrays. */
public final class BinarySearch {
    private BinarySearch() {
    }

    /** Returns the index of key in the sorted array, or -1 when it is absent. */
    public static int indexOf(int[] sorted, int key) {
        int low = 0;
        int high = sorted.length - 1;
        while (low <= high) {
            int mid = low + (high - low) / 2;
            if (sorted[mid] < key) {
                low = mid + 1;
            } else if (sorted[mid] > key) {
                high = mid - 1;
            } else {
                return mid;
            }
        }
        return -1;
    }

    /** Returns the first index whose value is not less than key. */
    public static int lowerBound(int[] sorted, int key) {
        int low = 0;
        int high = sorted.length;
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (sorted[mid] < key) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return low;
    }
}
