"""The playground (``jobgate playground``): jobgate's real app with a simulated Slack and a Slack-like page.

``slack_sim`` (with ``web_api``, ``workspace`` and ``slack_limits``) is the Slack Web API simulator, shared with the
tests; ``bridge`` turns what a person does on the page into signed Slack requests; ``server`` wires it all up;
``demo`` holds the demo people, channels and permissions; ``static`` the page (plain HTML, CSS and JavaScript).
"""
