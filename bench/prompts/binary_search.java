public class BinarySearch {

    /**
     * Returns the index of key in the sorted array a, or -1 if it is absent.
     */
    public static int indexOf(int[] a, int key) {
