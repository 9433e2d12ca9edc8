public class Euclid {

    /** Greatest common divisor of two non-negative integers. */
    public static int gcd(int a, int b) {
