"""What texts say: keywords, message segments, the crisis resources sent by SMS."""
