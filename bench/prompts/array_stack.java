import java.util.Arrays;
import java.util.NoSuchElementException;

public class ArrayStack {

    private int[] items = new int[8];
    private int count;

    public boolean isEmpty() {
        return count == 0;
    }

    public void push(int item) {
        if (count == items.length) {
            items = Arrays.copyOf(items, 2 * count);
        }
        items[count++] = item;
    }

    public int pop() {
