public class SinglyLinkedList {

    static class Node {
        int value;
        Node next;

        Node(int value, Node next) {
            this.value = value;
            this.next = next;
        }
    }

    private Node head;

    public void addFirst(int value) {
        head = new Node(value, head);
    }

    /** Reverses the list in place. */
    public void reverse() {
