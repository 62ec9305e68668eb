package activesync

// Not built yet: answered 501 by the stub below until its command lands.

func (h *Handler) cmdFolderSync(rq *request) (*response, error) {
	return &response{status: 501}, nil
}

func (h *Handler) cmdFolderCreate(rq *request) (*response, error) {
	return &response{status: 501}, nil
}

func (h *Handler) cmdFolderUpdate(rq *request) (*response, error) {
	return &response{status: 501}, nil
}

func (h *Handler) cmdFolderDelete(rq *request) (*response, error) {
	return &response{status: 501}, nil
}
