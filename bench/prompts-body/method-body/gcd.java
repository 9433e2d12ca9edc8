public class MathUtil {
    public static int gcd(int a, int b) {
//@body
        while (b != 0) {
