public class IntStack {
//@body
    private int[] items = new int[16];
    private int size;

    public void push(int value) {
        if (size == items.length) {
            items = java.util.Arrays.copyOf(items, size * 2);
        }
        items[size++] = value;
    }

    public int pop() {
