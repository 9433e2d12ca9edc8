public class Strings {
    public static String reverse(String s) {
//@body
        StringBuilder sb = new StringBuilder();
