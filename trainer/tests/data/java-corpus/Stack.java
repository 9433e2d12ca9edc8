package corpus.collections;

/** A last-in, first-out stack backed by a growable array. */
public class Stack<T> {
    private Object[] items = new Object[8];
    private int size;

    public void push(T item) {
        if (size == items.length) {
            items = java.util.Arrays.copyOf(items, size * 2);
        }
        items[size++] = item;
    }

    @SuppressWarnings("unchecked")
    public T pop() {
        if (size == 0) {
            throw new IllegalStateException("stack is empty");
        }
        T item = (T) items[--size];
        items[size] = null;
        return item;
    }

    @SuppressWarnings("unchecked")
    public T peek() {
        if (size == 0) {
            throw new IllegalStateException("stack is empty");
        }
        return (T) items[size - 1];
    }

    public boolean isEmpty() {
        return size == 0;
    }

    public int size() {
        return size;
    }
}
