public class FastPower {

    /** base^exponent mod modulus, by repeated squaring. */
    public static long modPow(long base, long exponent, long modulus) {
