"""A local emulator of the Xepeng and Durianpay APIs with seeded, realistic data."""
