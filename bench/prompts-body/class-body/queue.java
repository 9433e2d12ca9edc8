public class LinkedQueue<T> {
//@body
    private static final class Node<T> {
        T value;
        Node<T> next;
    }

    private Node<T> head;
    private Node<T> tail;
    private int size;

    public boolean isEmpty() {
        return size == 0;
    }

    public void enqueue(T value) {
