public class Palindrome {

    /** True when s reads the same backwards, ignoring case and non-letters. */
    public static boolean isPalindrome(String s) {
