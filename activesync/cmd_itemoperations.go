package activesync

// Not built yet: answered 501 by the stub below until its command lands.

func (h *Handler) cmdItemOperations(rq *request) (*response, error) {
	return &response{status: 501}, nil
}

func (h *Handler) cmdGetAttachment(rq *request) (*response, error) {
	return &response{status: 501}, nil
}
