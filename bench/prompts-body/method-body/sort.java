public class Sorter {
    public static void insertionSort(int[] a) {
//@body
        for (int i = 1; i < a.length; i++) {
            int key = a[i];
