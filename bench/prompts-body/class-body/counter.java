public class Counter {
//@body
    private int count;

    public void increment() {
        count++;
    }

    public int get() {
