public class Search {
    public static boolean contains(int[] values, int key) {
//@body
        int low = 0;
        int high = values.length - 1;
