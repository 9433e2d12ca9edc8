public class BubbleSort {

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    /** Sorts the array in ascending order. */
    public static void sort(int[] a) {
