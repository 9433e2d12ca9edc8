public class Printer {
    public static void printTable(int n) {
//@body
        for (int i = 1; i <= n; i++) {
