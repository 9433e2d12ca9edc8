public class FenwickTree {

    private final long[] tree;

    public FenwickTree(int n) {
        tree = new long[n + 1];
    }

    /** Adds delta to the element at index i (0-based). */
    public void add(int i, long delta) {
        for (i++; i < tree.length; i += i & -i) {
            tree[i] += delta;
        }
    }

    /** Sum of the elements at indices 0..i inclusive. */
    public long prefixSum(int i) {
