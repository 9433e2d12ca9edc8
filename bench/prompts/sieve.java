import java.util.ArrayList;
import java.util.List;

public class Sieve {

    /** All primes up to and including n, by the sieve of Eratosthenes. */
    public static List<Integer> primesUpTo(int n) {
