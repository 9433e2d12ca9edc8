package corpus.math;

/** Fibonacci numbers three ways. */
public final class Fibonacci {
    private Fibonacci() {
    }

    public static long recursive(int n) {
        if (n < 2) {
            return n;
        }
        return recursive(n - 1) + recursive(n - 2);
    }

    public static long iterative(int n) {
        long previous = 0;
        long current = 1;
        for (int i = 0; i < n; i++) {
            long next = previous + current;
            previous = current;
            current = next;
        }
        return previous;
    }

    public static long memoized(int n, long[] memo) {
        if (n < 2) {
            return n;
        }
        if (memo[n] != 0) {
            return memo[n];
        }
        memo[n] = memoized(n - 1, memo) + memoized(n - 2, memo);
        return memo[n];
    }
}
