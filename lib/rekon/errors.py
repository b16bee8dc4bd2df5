"""The root of Rekon's errors. Every message is written for a finance person to act on."""


class RekonError(Exception):
    """Something Rekon could not do; str(error) says what and what to do about it."""
