import java.util.HashMap;
import java.util.Map;

public class Fibonacci {

    private final Map<Integer, Long> memo = new HashMap<>();

    /** The n-th Fibonacci number, memoised. */
    public long fib(int n) {
