"""Speech services for Home Assistant's Cloud Speech integration, free of Home Assistant.

Azure AI Speech (every cloud, custom domains and Speech containers) and Convai,
behind one set of models and one exception hierarchy.
"""

__version__ = "0.1.0"
