public class Knapsack {

    /**
     * The largest total value of items whose total weight is at most capacity
     * (each item used at most once).
     */
    public static int maxValue(int[] weights, int[] values, int capacity) {
