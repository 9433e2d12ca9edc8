package corpus.bank;

/** A bank account that refuses to go below zero. */
public class BankAccount {
    private final String owner;
    private long balanceInCents;

    public BankAccount(String owner) {
        this.owner = owner;
    }

    public void deposit(long cents) {
        if (cents <= 0) {
            throw new IllegalArgumentException("deposit must be positive");
        }
        balanceInCents += cents;
    }

    public void withdraw(long cents) {
        if (cents <= 0) {
            throw new IllegalArgumentException("withdrawal must be positive");
        }
        if (cents > balanceInCents) {
            throw new IllegalStateException("insufficient funds");
        }
        balanceInCents -= cents;
    }

    public void transferTo(BankAccount other, long cents) {
        withdraw(cents);
        other.deposit(cents);
    }

    public long getBalance() {
        return balanceInCents;
    }

    public String getOwner() {
        return owner;
    }
}
