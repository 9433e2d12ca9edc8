package corpus.text;

/** Palindrome checks on strings. */
public final class Palindrome {
    private Palindrome() {
    }

    public static boolean isPalindrome(String text) {
        int left = 0;
        int right = text.length() - 1;
        while (left < right) {
            if (text.charAt(left) != text.charAt(right)) {
                return false;
            }
            left++;
            right--;
        }
        return true;
    }

    public static boolean isPalindromeIgnoringCase(String text) {
        return isPalindrome(text.replaceAll("[^A-Za-z0-9]", "").toLowerCase());
    }

    public static String reverse(String text) {
        return new StringBuilder(text).reverse().toString();
    }
}
