"""Group-robot notifications: new alerts told to the hall's 企业微信 (WeCom) and 钉钉 (DingTalk) groups.

``messages.py`` builds each robot's documented JSON (pure); ``queue.py`` keeps what is still to be told,
per robot and window, in the store; ``sender.py`` consumes the outbox into that queue and sends;
``links.py`` makes the snapshot links a chat app can open without logging in.
"""
