public class InsertionSort {

    /** Sorts the array in ascending order, in place. */
    public static void sort(int[] a) {
