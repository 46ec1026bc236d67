{
  "targets": [
    {
      "target_name": "kvsync_malloc_trim",
      "sources": ["malloc_trim.c"]
    }
  ]
}
