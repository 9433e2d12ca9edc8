public class Matrix {

    /** The product of an n x m and an m x p matrix. */
    public static double[][] multiply(double[][] a, double[][] b) {
        int n = a.length;
        int m = b.length;
        int p = b[0].length;
