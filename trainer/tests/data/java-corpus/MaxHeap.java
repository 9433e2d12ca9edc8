package corpus.collections;

/** A binary max-heap of ints. */
public class MaxHeap {
    private int[] heap = new int[16];
    private int size;

    public void add(int value) {
        if (size == heap.length) {
            heap = java.util.Arrays.copyOf(heap, size * 2);
        }
        heap[size] = value;
        siftUp(size++);
    }

    public int removeMax() {
        if (size == 0) {
            throw new IllegalStateException("heap is empty");
        }
        int max = heap[0];
        heap[0] = heap[--size];
        siftDown(0);
        return max;
    }

    private void siftUp(int index) {
        while (index > 0) {
            int parent = (index - 1) / 2;
            if (heap[parent] >= heap[index]) {
                return;
            }
            swap(parent, index);
            index = parent;
        }
    }

    private void siftDown(int index) {
        while (2 * index + 1 < size) {
            int child = 2 * index + 1;
            if (child + 1 < size && heap[child + 1] > heap[child]) {
                child++;
            }
            if (heap[index] >= heap[child]) {
                return;
            }
            swap(index, child);
            index = child;
        }
    }

    private void swap(int i, int j) {
        int tmp = heap[i];
        heap[i] = heap[j];
        heap[j] = tmp;
    }
}
