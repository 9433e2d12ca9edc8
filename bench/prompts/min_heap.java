import java.util.Arrays;

public class MinHeap {

    private int[] heap = new int[16];
    private int size;

    public boolean isEmpty() {
        return size == 0;
    }

    public void add(int value) {
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, 2 * size);
        }
        heap[size] = value;
        siftUp(size);
        size++;
    }

    private void siftUp(int i) {
