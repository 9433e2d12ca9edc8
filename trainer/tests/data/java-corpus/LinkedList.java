package corpus.collections;

/** A singly linked list with insertion at both ends. */
public class LinkedList<T> {
    private static class Node<T> {
        T value;
        Node<T> next;

        Node(T value) {
            this.value = value;
        }
    }

    private Node<T> first;
    private Node<T> last;
    private int size;

    public void addFirst(T value) {
        Node<T> node = new Node<>(value);
        node.next = first;
        first = node;
        if (last == null) {
            last = node;
        }
        size++;
    }

    public void addLast(T value) {
        Node<T> node = new Node<>(value);
        if (last == null) {
            first = node;
        } else {
            last.next = node;
        }
        last = node;
        size++;
    }

    public T get(int index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("index " + index + ", size " + size);
        }
        Node<T> node = first;
        for (int i = 0; i < index; i++) {
            node = node.next;
        }
        return node.value;
    }

    public boolean contains(T value) {
        for (Node<T> node = first; node != null; node = node.next) {
            if (node.value.equals(value)) {
                return true;
            }
        }
        return false;
    }

    public int size() {
        return size;
    }
}
