package corpus.collections;

/** A first-in, first-out queue on a circular buffer. */
public class Queue<T> {
    private Object[] items = new Object[8];
    private int head;
    private int size;

    public void enqueue(T item) {
        if (size == items.length) {
            grow();
        }
        items[(head + size) % items.length] = item;
        size++;
    }

    @SuppressWarnings("unchecked")
    public T dequeue() {
        if (size == 0) {
            throw new IllegalStateException("queue is empty");
        }
        T item = (T) items[head];
        items[head] = null;
        head = (head + 1) % items.length;
        size--;
        return item;
    }

    private void grow() {
        Object[] bigger = new Object[items.length * 2];
        for (int i = 0; i < size; i++) {
            bigger[i] = items[(head + i) % items.length];
        }
        items = bigger;
        head = 0;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    public int size() {
        return size;
    }
}
