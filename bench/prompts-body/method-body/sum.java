public class Stats {
    public static double mean(double[] values) {
//@body
        double sum = 0;
