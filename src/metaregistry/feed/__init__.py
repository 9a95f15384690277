"""metaregistry.feed"""
